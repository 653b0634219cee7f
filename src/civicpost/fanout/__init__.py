"""The `subscribers` channel's fan-out (SPEC §8.7): one delivery becomes a message to every confirmed
subscriber of the channel's topics.

queue.py makes the recipients' rows (one INSERT ... SELECT), claims them in batches under leases and
records what happened; message.py builds a delivery's email once and changes only the per-recipient
headers and links; sender.py sends over a small pool of SMTP connections in one asyncio thread.
"""
