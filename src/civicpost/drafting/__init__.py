"""Announcements while they are written and approved: who may see and edit
them (access), creating and changing them (editing), lists of them (listing)
and the words that find them (search),
what each channel would receive (previews), and the state machine that moves
them from draft to published or retracted (workflow)."""
