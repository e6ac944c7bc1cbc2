"""The engine as a service for the dialog: its preview, here or on Run on's machine."""
