// Edit this line while devloop runs: the build picks it up within a second.
exports.greeting = (name) => `Hello, ${name}!`;
