"""Help Point calls and alarms: the queue, the incident pane, the microphone."""
