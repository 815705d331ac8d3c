// Package factor holds what the second factors share; each factor lives in
// its own sub-package (totp, recovery, …) and slow hashing in slowhash.
// At the top level it reads the "password;code" form, which lets an app
// with no second-factor screen carry a one-time code in its password field.
package factor
