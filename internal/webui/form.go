package webui

import (
	"mime"
	"net/http"
)

// formType is the one body the web UI's forms send.
const formType = "application/x-www-form-urlencoded"

// FormOnly serves next only for a request whose body, if it has one, is
// an urlencoded form, the one body the web UI's forms send; any other,
// multipart/form-data above all, is answered 415 before a byte of it is
// read. The handlers read their forms with ParseForm, which reads nothing
// but urlencoded bodies (up to the server's body limit); refusing the
// rest here says so to the caller, and keeps a later FormValue or
// ParseMultipartForm, which spill file parts to temporary files, from
// ever reading one.
func (u *UI) FormOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != formType {
				w.Header().Set("Accept", formType)
				w.Header().Set("Connection", "close") // the body stays unread
				u.message(w, r, http.StatusUnsupportedMediaType, "Cannot continue",
					"The form could not be read: it must be sent as "+formType+".", true, view{})
				return
			}
		}
		next(w, r)
	}
}
