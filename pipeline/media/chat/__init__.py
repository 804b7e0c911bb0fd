"""Chat replay as a scoring signal: read a chat log (a file, a link, a YouTube live chat
replay, a Twitch VOD's chat), turn it into spam-robust per-second curves and shift them back
by the chat's reaction delay."""
