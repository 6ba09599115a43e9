"""Help Point calls and alarms as incidents: the queue, who owns what, and what was done."""
