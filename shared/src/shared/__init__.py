"""Shared library of the rental platform: config, db, messaging, auth, errors, events. No entry points."""
