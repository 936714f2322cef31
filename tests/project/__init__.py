"""The project itself: import floors, the wheel, the speed suite, the coverage page."""
