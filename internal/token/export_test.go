package token

// NumericDate and StringOrList expose the claim decoders to the fuzz
// targets.
var (
	NumericDate  = numericDate
	StringOrList = stringOrList
)
