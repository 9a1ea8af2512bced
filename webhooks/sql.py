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

# The deliveries of the events in (after, upto]: one per enabled endpoint subscribed to the
# event's type and created before it. The unique (endpoint, event) makes a second run a no-op.
# Returns the endpoints that got deliveries.
DISPATCH = """
WITH made AS (
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type)
    SELECT endpoint.id, event.id, event.type
      FROM events AS event
      JOIN webhook_endpoints AS endpoint
        ON endpoint.enabled
       AND event.type = ANY (endpoint.events)
       AND event.id > endpoint.after_event_id
     WHERE event.id > %(after)s AND event.id <= %(upto)s
     ORDER BY event.id, endpoint.id
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING endpoint_id
)
SELECT DISTINCT endpoint_id FROM made
"""
