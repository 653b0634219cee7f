"""Announcements while they are written: who may see and edit them (access),
creating and changing them (editing), lists of them (listing), and what each
channel would receive (previews). The workflow moves them along from here."""
