"""The publishing engine (SPEC §3, §7): the deliveries table is the queue.

claims.py leases due deliveries and gives leases back; guard.py reads, right
before the call, whether each claimed job is still to be sent; sending.py
makes the platform calls (reconcile, then publish; or take a post back);
outcomes.py decides what a result means (pure rules); recording.py writes
those decisions; recorder.py batches them on one thread; wakeups.py wakes
idle workers; worker.py is the loop that runs it all.
"""
