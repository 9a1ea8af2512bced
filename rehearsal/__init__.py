"""The scale-out rehearsal: Atrium's production topology started for real on one machine
(topology.py), and the invariants that must hold across its processes (invariants.py), shared
by tests/scaleout and ``make rehearsal`` (__main__.py). It drives Atrium from outside, over
HTTP and SQL, and imports none of its code."""
