"""The sandbox: the whole bot in a browser, with no Telegram token (``dalyvauk demo``)."""
