"""A post's text in a preview: addresses, hashtags and mentions marked as platforms show them, nothing else
turned into markup."""

from civicpost.web.post_text import initials, post_markup


def test_links_hashtags_and_mentions_stand_out_and_the_rest_is_escaped():
    marked = str(post_markup("Pool opens! See https://city.example/pools. #ParksAndRec @parks@social.example <b>"))
    assert '<span class="post-link">https://city.example/pools</span>.' in marked
    assert '<span class="post-tag">#ParksAndRec</span>' in marked
    assert '<span class="post-mention">@parks@social.example</span>' in marked
    assert "&lt;b&gt;" in marked and "<b>" not in marked


def test_a_hash_inside_a_word_or_address_and_an_email_address_are_left_as_they_are():
    marked = str(post_markup("Call 311#2 or write to info@city.example; page https://city.example/a#b"))
    assert "post-tag" not in marked.replace('<span class="post-link">https://city.example/a#b</span>', "")
    assert "post-mention" not in marked


def test_hostile_text_cannot_become_markup():
    marked = str(post_markup('https://x.example/"><script>alert(1)</script> #<img src=x>'))
    assert "<script>" not in marked and "<img" not in marked


def test_the_avatar_shows_the_first_letters_of_the_accounts_name():
    assert initials("Parks and Recreation on X (sandbox)") == "PR"
    assert initials("Police Department on the city website") == "PD"
    assert initials("Água e Saneamento") == "ÁS"
    assert initials("   ") == "?"
