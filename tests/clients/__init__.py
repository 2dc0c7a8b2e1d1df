"""Generated clients of the services (`make clients`); do not edit."""
