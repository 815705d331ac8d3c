package fake

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// pbkdf2Iterations is the work factor of stored passwords. Jellyfin uses
// PBKDF2-SHA512 with 210,000 iterations; 1,000 keeps a login at about a
// millisecond, so password checks cost real work without slowing the suite.
const pbkdf2Iterations = 1000

// hashPassword stores a password in Jellyfin's PasswordHash format
// ($PBKDF2-SHA512$iterations=N$SALT$HASH, upper-case hex); "" means none.
func hashPassword(pw string) string {
	if pw == "" {
		return ""
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key, _ := pbkdf2.Key(sha512.New, pw, salt, pbkdf2Iterations, sha512.Size)
	return fmt.Sprintf("$PBKDF2-SHA512$iterations=%d$%s$%s", pbkdf2Iterations,
		strings.ToUpper(hex.EncodeToString(salt)), strings.ToUpper(hex.EncodeToString(key)))
}

// checkPassword is DefaultAuthenticationProvider.Authenticate: a
// password-less user logs in with an empty password only; otherwise the
// PBKDF2 hash must match.
func checkPassword(stored, pw string) bool {
	if stored == "" {
		return pw == ""
	}
	parts := strings.Split(stored, "$")
	if len(parts) != 5 {
		return false
	}
	iter, err := strconv.Atoi(strings.TrimPrefix(parts[2], "iterations="))
	salt, err1 := hex.DecodeString(parts[3])
	want, err2 := hex.DecodeString(parts[4])
	if err != nil || err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha512.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// validUserName is UserManager's username rule: letters, digits, marks,
// connector punctuation and " -'._@+", not starting or ending with a space.
func validUserName(name string) bool {
	if strings.TrimSpace(name) == "" || name[0] == ' ' || name[len(name)-1] == ' ' {
		return false
	}
	for _, r := range name {
		ok := unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Nd, r) ||
			unicode.Is(unicode.Pc, r) || strings.ContainsRune(" -'._@+", r)
		if !ok {
			return false
		}
	}
	return true
}

// createUser is CreateUserAsync. Caller holds s.mu.
func (s *Server) createUser(name string) (*user, error) {
	if !validUserName(name) {
		return nil, argumentError("Usernames can contain unicode symbols, numbers (0-9), dashes (-), underscores (_), apostrophes ('), and periods (.) (Parameter 'name')")
	}
	if s.userByName(name) != nil {
		return nil, argumentError(fmt.Sprintf("A user with the name '%s' already exists.", name))
	}
	u := &user{id: newGUID(), name: name, policy: newUserPolicy()}
	s.users = append(s.users, u)
	return u, nil
}

// userDTO is MediaBrowser.Model.Dto.UserDto (§3.1, §6).
type userDTO struct {
	Name                      string            `json:"Name"`
	ServerID                  string            `json:"ServerId"`
	ID                        string            `json:"Id"`
	HasPassword               bool              `json:"HasPassword"`
	HasConfiguredPassword     bool              `json:"HasConfiguredPassword"`
	HasConfiguredEasyPassword bool              `json:"HasConfiguredEasyPassword"`
	EnableAutoLogin           bool              `json:"EnableAutoLogin"`
	LastLoginDate             *jfTime           `json:"LastLoginDate,omitempty"`
	LastActivityDate          *jfTime           `json:"LastActivityDate,omitempty"`
	Configuration             userConfiguration `json:"Configuration"`
	Policy                    Policy            `json:"Policy"`
}

// userConfiguration is UserConfiguration with a new user's values.
type userConfiguration struct {
	PlayDefaultAudioTrack      bool     `json:"PlayDefaultAudioTrack"`
	SubtitleLanguagePreference string   `json:"SubtitleLanguagePreference"`
	DisplayMissingEpisodes     bool     `json:"DisplayMissingEpisodes"`
	GroupedFolders             []string `json:"GroupedFolders"`
	SubtitleMode               string   `json:"SubtitleMode"`
	DisplayCollectionsView     bool     `json:"DisplayCollectionsView"`
	EnableLocalPassword        bool     `json:"EnableLocalPassword"`
	OrderedViews               []string `json:"OrderedViews"`
	LatestItemsExcludes        []string `json:"LatestItemsExcludes"`
	MyMediaExcludes            []string `json:"MyMediaExcludes"`
	HidePlayedInLatest         bool     `json:"HidePlayedInLatest"`
	RememberAudioSelections    bool     `json:"RememberAudioSelections"`
	RememberSubtitleSelections bool     `json:"RememberSubtitleSelections"`
	EnableNextEpisodeAutoPlay  bool     `json:"EnableNextEpisodeAutoPlay"`
	CastReceiverID             string   `json:"CastReceiverId"`
}

// userDTO is UserManager.GetUserDto.
func (s *Server) userDTO(u *user) userDTO {
	p := u.policy.clone()
	p.InvalidLoginAttemptCount = u.invalidLogins
	return userDTO{
		Name: u.name, ServerID: s.id, ID: u.id,
		HasPassword: u.passwordHash != "", HasConfiguredPassword: u.passwordHash != "",
		LastLoginDate: timePtr(u.lastLogin), LastActivityDate: timePtr(u.lastActivity),
		Configuration: userConfiguration{
			PlayDefaultAudioTrack: true, GroupedFolders: []string{}, SubtitleMode: "Default",
			OrderedViews: []string{}, LatestItemsExcludes: []string{}, MyMediaExcludes: []string{},
			HidePlayedInLatest: true, RememberAudioSelections: true,
			RememberSubtitleSelections: true, EnableNextEpisodeAutoPlay: true,
			CastReceiverID: "F007D354",
		},
		Policy: p,
	}
}

func (s *Server) userDTOs(users []*user) []userDTO {
	out := []userDTO{}
	for _, u := range users {
		out = append(out, s.userDTO(u))
	}
	return out
}

// getUsers is GET /Users: any authenticated caller gets every user,
// optionally filtered by isHidden/isDisabled (§6).
func getUsers(s *Server, c *call) (*reply, error) {
	hidden, bad := c.boolQuery("isHidden")
	if bad != nil {
		return bad, nil
	}
	disabled, bad := c.boolQuery("isDisabled")
	if bad != nil {
		return bad, nil
	}
	var out []*user
	for _, u := range s.sortedUsers() {
		if hidden != nil && u.policy.IsHidden != *hidden || disabled != nil && u.policy.IsDisabled != *disabled {
			continue
		}
		out = append(out, u)
	}
	return c.jsonReply(200, s.userDTOs(out)), nil
}

// getPublicUsers is GET /Users/Public (§6): users that are neither hidden
// nor disabled; once the wizard is complete, also only those the caller's
// device may use and, off the LAN, those with remote access.
func getPublicUsers(s *Server, c *call) (*reply, error) {
	lan := isInLocalNetwork(c.peer.ip, &s.netCfg)
	var out []*user
	for _, u := range s.sortedUsers() {
		if u.policy.IsHidden || u.policy.IsDisabled {
			continue
		}
		if s.cfg.IsStartupWizardCompleted && !s.publicToCaller(c, u, lan) {
			continue
		}
		out = append(out, u)
	}
	return c.jsonReply(200, s.userDTOs(out)), nil
}

func (s *Server) publicToCaller(c *call, u *user, lan bool) bool {
	if c.auth.ok && !isBlank(c.auth.deviceID) && !s.canAccessDevice(u, c.auth.deviceID) {
		return false
	}
	return lan || u.policy.EnableRemoteAccess
}

// getMe is GET /Users/Me: 400 for an API key, which has no user (§2.5).
func getMe(s *Server, c *call) (*reply, error) {
	if c.auth.user == nil {
		return problem(400), nil
	}
	return c.jsonReply(200, s.userDTO(c.auth.user)), nil
}

// getUser is GET /Users/{userId}: any authenticated caller may read any user.
func getUser(s *Server, c *call) (*reply, error) {
	id, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	u, err := s.lookupUser(id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return c.jsonReply(404, "User not found"), nil
	}
	return c.jsonReply(200, s.userDTO(u)), nil
}

// deleteUser is DELETE /Users/{userId}: the user's tokens are revoked
// first, then the last user (500) and last administrator (400) rules apply.
func deleteUser(s *Server, c *call) (*reply, error) {
	id, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	u, err := s.lookupUser(id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return problem(404), nil
	}
	s.revokeUserTokens(u.id, "")
	if len(s.users) == 1 {
		return nil, invalidOpError(fmt.Sprintf("The user '%s' cannot be deleted because there must be at least one user in the system.", u.name))
	}
	if u.policy.IsAdministrator && s.countUsers(func(x *user) bool { return x.policy.IsAdministrator }) == 1 {
		return nil, argumentError(fmt.Sprintf("The user '%s' cannot be deleted because there must be at least one admin user in the system. (Parameter 'userId')", u.name))
	}
	s.removeUser(u)
	return noContent(), nil
}

func (s *Server) countUsers(pred func(*user) bool) int {
	n := 0
	for _, u := range s.users {
		if pred(u) {
			n++
		}
	}
	return n
}

func (s *Server) removeUser(u *user) {
	for i, x := range s.users {
		if x == u {
			s.users = append(s.users[:i], s.users[i+1:]...)
			return
		}
	}
}

// newUserBody is CreateUserByName.
type newUserBody struct {
	Name     *string `json:"Name"`
	Password *string `json:"Password"`
}

// createUserByName is POST /Users/New (administrators).
func createUserByName(s *Server, c *call) (*reply, error) {
	var body newUserBody
	if bad := c.bindJSON(&body); bad != nil {
		return bad, nil
	}
	if body.Name == nil || *body.Name == "" {
		return validationProblem(map[string][]string{"Name": {"The Name field is required."}}), nil
	}
	u, err := s.createUser(*body.Name)
	if err != nil {
		return nil, err
	}
	if body.Password != nil {
		u.passwordHash = hashPassword(*body.Password)
	}
	return c.jsonReply(200, s.userDTO(u)), nil
}

// updateUserPolicy is POST /Users/{userId}/Policy (§6, §3.5). The body
// replaces the whole policy; AuthenticationProviderId and
// PasswordResetProviderId are required; disabling revokes the user's
// tokens except the caller's.
func updateUserPolicy(s *Server, c *call) (*reply, error) {
	id, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	p, bad := c.bindPolicy()
	if bad != nil {
		return bad, nil
	}
	u, err := s.lookupUser(id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return problem(404), nil
	}
	if rep := s.policyRefusal(c, u, p); rep != nil {
		return rep, nil
	}
	if p.IsDisabled && !u.policy.IsDisabled {
		s.revokeUserTokens(u.id, c.auth.token)
	}
	u.invalidLogins = p.InvalidLoginAttemptCount
	p.InvalidLoginAttemptCount = 0
	u.policy = p
	return noContent(), nil
}

// bindPolicy reads a UserPolicy body with its [Required] provider ids.
func (c *call) bindPolicy() (Policy, *reply) {
	if bad := c.checkJSONBody(); bad != nil {
		return Policy{}, bad
	}
	p, err := policyFromWire(c.body)
	if err != nil {
		return Policy{}, validationProblem(map[string][]string{"$": {err.Error()}})
	}
	errs := map[string][]string{}
	if p.AuthenticationProviderID == "" {
		errs["AuthenticationProviderId"] = []string{"The AuthenticationProviderId field is required."}
	}
	if p.PasswordResetProviderID == "" {
		errs["PasswordResetProviderId"] = []string{"The PasswordResetProviderId field is required."}
	}
	if len(errs) > 0 {
		return Policy{}, validationProblem(errs)
	}
	return p, nil
}

// policyRefusal holds UpdateUserPolicy's 403 rules.
func (s *Server) policyRefusal(c *call, u *user, p Policy) *reply {
	isAdmin := func(x *user) bool { return x.policy.IsAdministrator }
	if !p.IsAdministrator && u.policy.IsAdministrator && s.countUsers(isAdmin) == 1 {
		return c.jsonReply(403, "There must be at least one user in the system with administrative access.")
	}
	if p.IsDisabled && u.policy.IsAdministrator {
		return c.jsonReply(403, "Administrators cannot be disabled.")
	}
	enabled := func(x *user) bool { return !x.policy.IsDisabled }
	if p.IsDisabled && !u.policy.IsDisabled && s.countUsers(enabled) == 1 {
		return c.jsonReply(403, "There must be at least one enabled user in the system.")
	}
	return nil
}

// passwordBody is UpdateUserPassword.
type passwordBody struct {
	CurrentPw     *string `json:"CurrentPw"`
	NewPw         *string `json:"NewPw"`
	ResetPassword bool    `json:"ResetPassword"`
}

// updatePassword is POST /Users/Password?userId= and the hidden
// POST /Users/{userId}/Password (§6): self or admin; a non-admin (or an
// admin naming themself) must give the current password, which counts as a
// login attempt; a change revokes every other token of the user.
func updatePassword(s *Server, c *call) (*reply, error) {
	id, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	return s.passwordUpdate(c, id)
}

// updatePasswordLegacy is POST /Users/{userId}/Password.
func updatePasswordLegacy(s *Server, c *call) (*reply, error) {
	id, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	return s.passwordUpdate(c, id)
}

func (s *Server) passwordUpdate(c *call, id string) (*reply, error) {
	var body passwordBody
	if bad := c.bindJSON(&body); bad != nil {
		return bad, nil
	}
	target := id
	if target == "" {
		target = c.auth.userID()
	}
	u, err := s.lookupUser(target)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return problem(404), nil
	}
	if u.id != c.auth.userID() && !c.auth.admin() {
		return c.jsonReply(403, "User is not allowed to update the password."), nil
	}
	return s.changePassword(c, u, id, body)
}

func (s *Server) changePassword(c *call, u *user, requested string, body passwordBody) (*reply, error) {
	if body.ResetPassword {
		u.passwordHash = ""
		return noContent(), nil
	}
	if !c.auth.admin() || requested != "" && requested == c.auth.userID() {
		verified, err := s.verifyUser(u.name, deref(body.CurrentPw), c.peer.ip, false)
		if err != nil {
			return nil, err
		}
		if verified == nil {
			return c.jsonReply(403, "Invalid user or password entered."), nil
		}
	}
	u.passwordHash = hashPassword(deref(body.NewPw))
	s.revokeUserTokens(u.id, c.auth.token)
	return noContent(), nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
