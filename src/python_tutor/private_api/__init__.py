"""The private APIs of other libraries this project relies on, one small module per library.

Underscored names carry no compatibility promise: an upgrade may rename or drop them silently.
Everything of that kind goes through these modules, and ``tests/private_api`` checks each one
against the installed library, so an upgrade that changes one fails there, by name, rather
than somewhere downstream.
"""
