package edge

import (
	"io"
	"net/http"
)

// limitedBody is a request body capped by LimitBody that remembers the
// body it caps, so that the handler serving the request may lift the cap.
type limitedBody struct {
	io.ReadCloser               // the cap: an http.MaxBytesReader over raw
	raw           io.ReadCloser // the body as the server read it
}

// LimitBody caps r's body at n bytes: a read past them fails with
// *http.MaxBytesError, and the connection is closed after the answer. The
// cap holds for every request, whatever route it is for: only the handler
// that serves r can tell that its body may be larger, and says so with
// LiftBodyLimit.
func LimitBody(w http.ResponseWriter, r *http.Request, n int64) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, n), raw: r.Body}
}

// LiftBodyLimit removes the cap of LimitBody from r's body, for a handler
// that streams bodies of any size (the gateway, once a call is
// authorized). It must be called before anything has read the body.
func LiftBodyLimit(r *http.Request) {
	if b, ok := r.Body.(*limitedBody); ok {
		r.Body = b.raw
	}
}
