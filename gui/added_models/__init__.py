"""Models from other projects in the app: Tools > Add Model… and Tools > Manage Added Models…."""
