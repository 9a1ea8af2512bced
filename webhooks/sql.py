"""Hand-written statements of the delivery path, run once per attempt in a batch."""

# One attempt's outcome. ``%(next_attempt_at)s`` is NULL once the delivery is settled.
RECORD_ATTEMPT = """
UPDATE webhook_deliveries
   SET attempts = attempts + 1,
       status = %(status)s,
       next_attempt_at = COALESCE(%(next_attempt_at)s, next_attempt_at),
       delivered_at = CASE WHEN %(status)s = 'delivered' THEN now() ELSE delivered_at END,
       last_status_code = %(status_code)s,
       last_latency_ms = %(latency_ms)s,
       last_response_excerpt = %(excerpt)s,
       last_error = %(error)s
 WHERE id = %(id)s AND status = 'pending'
"""
