package masterkey

// Raw exposes the key's bytes to tests.
func (k Key) Raw() []byte { return k.raw }
