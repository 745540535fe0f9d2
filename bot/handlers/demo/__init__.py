"""Demo-only pages: the demo host's free time, demo sign-in."""
