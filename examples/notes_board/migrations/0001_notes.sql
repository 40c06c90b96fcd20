-- The notes of the board: who wrote them, what, and the image with them, if any.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    image TEXT
);
