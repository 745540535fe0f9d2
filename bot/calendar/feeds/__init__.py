"""ICS feeds ("secret address in iCal format"): read-only calendars fetched by URL (provider ``feed``).

* ``credentials.py``: the address is a secret (sealed; shown as host and a short hint only);
* ``fetch.py``: one fetch through the SSRF policy, within time and size limits, redirects by hand,
  conditional GET;
* ``policy.py``: when to refresh, and when a failing feed's last copy may still be used;
* ``store.py``: the last good copy and the fetch history (``feed_states``);
* ``provider.py``: the read-only provider over the stored copy;
* ``refresh.py``: the app's background refresh and the on-demand one.
"""
