package redis

// BucketKey exposes the layout v2 bucket of an entry to the external tests.
func BucketKey(prefix, subject, id string) string { return newKeys(prefix).bucketKey(subject, id) }

// SubjectField and SessionField expose the layout v2 fields.
func SubjectField(subject string) string     { return subjectField(subject) }
func SessionField(subject, id string) string { return sessionField(subject, id) }

// V1SubjectKey and V1SessionKey expose the layout v1 keys.
func V1SubjectKey(prefix, subject string) string { return newV1Keys(prefix).subject(subject) }
func V1SessionKey(prefix, subject, id string) string {
	return newV1Keys(prefix).session(subject, id)
}
