"""Programme reports for the people who fund the schemes: Help Point use and the loaned-camera
programme. Each report is a plain dict computed from the raw records, rendered as CSV, a
one-page HTML file, or charts in the desktop."""
