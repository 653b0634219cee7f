"""How a text goes out: within one SMS (160 GSM-7 characters, or 70 when it needs Unicode), or
split at spaces into parts that each fit one, marked "(1/3)", "(2/3)", ... so a phone that shows
them out of order still reads them right."""

# GSM 03.38's basic set; the extension characters (^{}\[~]|€) take two places each.
_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
             "¿abcdefghijklmnopqrstuvwxyzäöñüà")
_EXTENDED = set("^{}\\[~]|€\f")


def gsm7(text: str) -> bool:
    return all(c in _BASIC or c in _EXTENDED for c in text)


def length(text: str) -> int:
    """Places the text takes in one SMS: GSM-7 counts extension characters twice; Unicode counts UTF-16 units."""
    if gsm7(text):
        return sum(2 if c in _EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def limit(text: str) -> int:
    return 160 if gsm7(text) else 70


def parts(text: str) -> list[str]:
    """The text as sent: itself when it fits one SMS, else parts marked with their count."""
    text = " ".join(text.split())
    if length(text) <= limit(text):
        return [text]
    room = limit(text) - len("(99/99) ")
    words, chunks, current = text.split(" "), [], ""
    for word in words:
        while length(word) > room:  # a word longer than a part (a long link) is cut
            if current:
                chunks.append(current)
                current = ""
            cut = room
            while length(word[:cut]) > room:
                cut -= 1
            chunks.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}" if current else word
        if length(candidate) <= room:
            current = candidate
        else:
            chunks.append(current)
            current = word
    if current:
        chunks.append(current)
    return [f"({i}/{len(chunks)}) {chunk}" for i, chunk in enumerate(chunks, start=1)]
