"""Text rules for posts: how each platform measures length, how long text is
threaded, and the accessibility lint that runs before approval."""
