/** `<UTC yyyymmddhhmmss>-<sha7>`: sorts by time, and is the only shape Deckhand ever deletes. */
export const RELEASE_NAME = /^\d{14}-[0-9a-f]{7}$/;
