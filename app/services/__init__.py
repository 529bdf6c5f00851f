"""Business logic used by views and CLI commands; views stay thin."""
