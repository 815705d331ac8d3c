package signin

import (
	"github.com/jellyguard/jellyguard/internal/store"
)

// ProofKind is how a factor vouches for a sign-in.
type ProofKind uint8

// Proof kinds, in the order decide prefers them.
const (
	// ProofFresh: a factor answered in this very sign-in (a TOTP or
	// recovery code; later a passkey or an e-mailed code).
	ProofFresh ProofKind = iota + 1
	// ProofRemembered: an earlier factor, remembered (a trusted browser, a
	// device the user approved).
	ProofRemembered
	// ProofApproval: a session that passed a factor approved this sign-in
	// (a Quick Connect code).
	ProofApproval
	// ProofPlace: the address vouches (the LAN bypass); no factor passed.
	ProofPlace
)

// Proof is one factor's evidence for a sign-in.
type Proof struct {
	Factor    string // recorded on the token: "totp", "lan" …
	Kind      ProofKind
	Assurance store.Assurance
	// commit runs only when the sign-in is released with this proof: a
	// trusted browser's cookie rotates, an approved device becomes active.
	commit func(c *commitment) error
}

// Facts are everything decide needs to know about a sign-in Jellyfin
// accepted. The verify step gathers them; decide only reads them.
type Facts struct {
	Door     Door
	Required bool // the user must pass a second factor
	Enrolled bool // the user has a confirmed factor
	Grace    bool // required, not enrolled, still in the grace period
	// TravelBlock: impossible travel in block mode — only a fresh factor
	// may vouch for this sign-in.
	TravelBlock bool
	// CodeFailed: a code was given and it was wrong (or unreadable).
	CodeFailed bool
	// CanChallenge: the client can follow a challenge to the page.
	CanChallenge bool
	Proofs       []Proof
}

// Decision is decide's answer.
type Decision struct {
	Action    Action
	Refusal   Refusal
	Proof     *Proof // what vouched, for Release; nil when nothing had to
	Assurance store.Assurance
	Factors   []string
}

// Decide is the policy, as a pure function of the facts: it writes
// nothing and asks nothing, so a table test covers every combination.
func Decide(f Facts) Decision {
	if f.CodeFailed {
		return refusal(RefuseBadCode)
	}
	if p := f.proof(ProofFresh); p != nil {
		return vouched(p)
	}
	if f.TravelBlock {
		switch {
		case !f.Enrolled:
			return refusal(RefuseTravel)
		case f.CanChallenge:
			return Decision{Action: Challenge}
		}
		return refusal(RefuseFactorNeeded)
	}
	if !f.Required {
		return Decision{Action: Release, Assurance: store.AssurancePassword}
	}
	if !f.Enrolled {
		if f.Grace {
			return Decision{Action: Release, Assurance: store.AssurancePassword, Factors: []string{FactorGrace}}
		}
		return refusal(RefuseNotEnrolled)
	}
	// A remembered factor or an approval vouches for more than the place:
	// the session is recorded with two factors, and the cookie rotates.
	for _, k := range []ProofKind{ProofRemembered, ProofApproval, ProofPlace} {
		if p := f.proof(k); p != nil {
			return vouched(p)
		}
	}
	switch {
	case f.Door == DoorQuickConnect:
		return refusal(RefuseQuickConnect)
	case f.CanChallenge:
		return Decision{Action: Challenge}
	case f.Door == DoorLogin || f.Door == DoorLegacy:
		return Decision{Action: Pending, Refusal: RefuseFactorNeeded}
	}
	return refusal(RefuseFactorNeeded)
}

func (f Facts) proof(k ProofKind) *Proof {
	for i := range f.Proofs {
		if f.Proofs[i].Kind == k {
			return &f.Proofs[i]
		}
	}
	return nil
}

func refusal(r Refusal) Decision { return Decision{Action: Refuse, Refusal: r} }

func vouched(p *Proof) Decision {
	return Decision{Action: Release, Proof: p, Assurance: p.Assurance, Factors: []string{p.Factor}}
}
