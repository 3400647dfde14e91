package cookie

import (
	"fmt"
	"time"
)

// ErrLegacyType reports an authentic legacy cookie (package cookie/gorilla
// reads them) holding a value that cannot be converted to a JSON session value: a struct, a
// pointer, a complex number, a map with non-string keys, or a type not
// registered with encoding/gob in this process. It matches [ErrInvalid] too.
var ErrLegacyType = fmt.Errorf("%w: gorilla session value of an unsupported type", ErrInvalid)

// LegacySession is a session decoded from a legacy cookie.
type LegacySession struct {
	// Values are the session's values, converted as the decoder
	// describes (see gorilla.Decoder in package cookie/gorilla).
	Values map[string]any
	// IssuedAt is the cookie's own timestamp: for gorilla/sessions, when
	// the old app last saved the session, in whole seconds. A migrated
	// session keeps it, so its absolute timeout does not restart.
	IssuedAt time.Time
	// Subject is the user the session belongs to, or "" (see
	// gorilla.Options.SubjectKey).
	Subject string
}
