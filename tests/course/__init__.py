"""The lecture notebooks in course/."""
