package secret

// DummyHash exposes the hash that DummyVerifyPassword checks against.
var DummyHash = dummyHash
