// Package respmeta names the gRPC response metadata by which a service
// tells the gateway how to answer over HTTP: a status other than 200, and
// warnings for the client. The gateway forwards no other response
// metadata.
package respmeta

// Keys of the response metadata.
const (
	// HTTPCode asks for an HTTP status other than 200 ("201" on create).
	HTTPCode = "x-http-code"
	// Warning is one warning for the client (an unknown field under
	// fieldValidation=Warn), answered as a "Warning: 299 - ..." header.
	Warning = "x-warning"
)
