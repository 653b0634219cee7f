"""Local fakes of the platforms on one port: every module here that defines a
PlatformFake is served under /{its name} (X, the Facebook Graph API, Mastodon,
Bluesky, ...).

For demos (`civicpost sandbox`), end-to-end tests and benchmarks. The real
SDKs run against it unchanged; nothing leaves 127.0.0.1.

URL prefixes (put these in a channel's `settings.api_base`)::

    /x         X API v2             tweepy: mount testing.RewriteHostAdapter on client.session
                                    (https://api.twitter.com/2/tweets -> {base}/x/2/tweets)
    /graph     Facebook Graph API   {base}/graph/v21.0/{page_id}/feed, token in Authorization
    /mastodon  Mastodon 4.3         Mastodon.py api_base_url="{base}/mastodon"
    /bluesky   atproto PDS (XRPC)   atproto Client(base_url="{base}/bluesky"); it adds /xrpc
    /linkedin  LinkedIn REST API    {base}/linkedin/rest/posts with Linkedin-Version; uploads and
                                    post pages under {base}/linkedin as well
    /instagram Instagram Graph API  {base}/instagram/v25.0/{ig_user_id}/media, token in Authorization;
                                    images fetched from image_url on 127.0.0.1 only
    /threads   Threads API          {base}/threads/v1.0/{user}/threads, likewise
    /telegram  Telegram Bot API     {base}/telegram/bot<token>/sendMessage; posts shown at {base}/t.me/...
    /sms       Twilio Messages API  CIVICPOST_SMS_API_BASE={base}/sms; calls each text's StatusCallback, signed

Control panel (no authentication; keep the sandbox on loopback)::

    GET  /                    each platform's timeline as an HTML page
    GET  /_sandbox/requests   recorded requests, secrets redacted (?platform=x&since=SEQ)
    POST /_sandbox/reset      forget posts, recorded requests and faults (start latency stays)
    GET  /_sandbox/faults     current fault settings per platform
    POST /_sandbox/faults     change them, e.g. {"mastodon": {"fail_next": 1, "fail_status": 503}}
                              or {"*": {"latency_ms": 50}}; see faults.PlatformFaults

Credentials are not checked, only required: any value works except "bad",
which each platform refuses the way it refuses a wrong token.
"""

from .app import create_sandbox_app, fake_classes, run_sandbox

__all__ = ["create_sandbox_app", "fake_classes", "run_sandbox"]
