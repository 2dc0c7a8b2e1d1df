"""The seeded fault run's pure parts: the schedule drawn from a seed and the checker over recorded effects."""
