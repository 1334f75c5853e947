"""A minimal django-allauth project, served beside the portal so that our sign-up and sign-in pages are measured
against a well-known peer's (bench/peer.py). Nothing of the portal imports it; the portal never installs allauth."""
