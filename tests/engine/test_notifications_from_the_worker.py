"""The worker sends notifications as one of its jobs: a channel that needs attention
and an announcement that failed reach admins by mail and the department's chat hook."""

from email import message_from_bytes

from tests.engine.observing import hook_channel, state_of, wait_for
from tests.factories import create_approved, create_department_hook
from tests.platforms.servers import running_chat_hook, running_smtp_server


def test_a_channel_needing_attention_and_a_failure_reach_admins_and_the_hook_once(
        client, city, receiver, worker_factory, fast_settings, sessions):
    with running_smtp_server() as smtp, running_chat_hook() as chat:
        settings = fast_settings.model_copy(update={
            "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False, "notify_poll_seconds": 0.1})
        create_department_hook(sessions, settings, "parks", chat.url)
        hook = hook_channel(client, city, receiver)
        client.put(f"/api/v1/channels/{hook}/credentials", headers=city.admin.auth,
                   json={"credentials": {"secret": "wrong-secret"}})
        a = create_approved(client, city, channels=[hook], title="Pool opens Saturday")
        worker_factory(settings=settings).start()
        wait_for(lambda: state_of(client, city, a["id"])["state"] == "failed")
        wait_for(lambda: len(chat.received) == 2 and len(smtp.behaviour.messages) >= 4)

        def subjects(email: str) -> list[str]:
            return sorted(message_from_bytes(e.content)["Subject"] for e in smtp.behaviour.messages
                          if email in e.rcpt_tos)

        assert subjects(city.admin.email) == ["A channel needs attention: Partner hook",
                                              "Not published everywhere: Pool opens Saturday"]
        assert subjects(city.parks_staff.email) == ["Approved: Pool opens Saturday",
                                                    "Not published everywhere: Pool opens Saturday"]
        texts = sorted(post["text"] for post in chat.received)
        assert texts[0].startswith('civicpost: "Pool opens Saturday" of Parks and Recreation could not be published')
        assert texts[1].startswith('civicpost: the channel "Partner hook" of Parks and Recreation needs attention')
        assert "wrong-secret" not in "".join(texts)
