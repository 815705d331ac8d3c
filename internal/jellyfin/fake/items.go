package fake

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// item is one library entry of the fixed demo content.
type item struct {
	id             string
	name           string
	typ            string // "CollectionFolder" or "Movie"
	parentID       string
	collectionType string
	container      string
	year           int
	runtimeTicks   int64
	streamSize     int64
	created        time.Time
}

// contentDate is the fixed creation date of the demo content, so ETags and
// Last-Modified stay stable across runs.
var contentDate = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// demoItems is a "Movies" library view with three movies. Ids derive from
// the names, as Jellyfin derives them from paths, so they are stable.
func demoItems(_ time.Time, size int64) []*item {
	lib := &item{id: md5GUID("library:Movies"), name: "Movies", typ: "CollectionFolder",
		collectionType: "movies", created: contentDate}
	out := []*item{lib}
	for _, m := range []struct {
		name string
		year int
		secs int64
	}{{"Big Buck Bunny", 2008, 596}, {"Sintel", 2010, 888}, {"Tears of Steel", 2012, 734}} {
		out = append(out, &item{
			id: md5GUID("movie:" + m.name), name: m.name, typ: "Movie", parentID: lib.id,
			container: "mp4", year: m.year, runtimeTicks: m.secs * 10_000_000,
			streamSize: size, created: contentDate,
		})
	}
	return out
}

func (s *Server) itemByID(id string) *item {
	for _, it := range s.items {
		if it.id == id {
			return it
		}
	}
	return nil
}

// imageTag is the cache tag of an item's images.
func (it *item) imageTag() string { return md5GUID("image:" + it.id) }

// itemDTO is the part of BaseItemDto clients need to browse and play.
type itemDTO struct {
	Name                    string            `json:"Name"`
	ServerID                string            `json:"ServerId"`
	ID                      string            `json:"Id"`
	Etag                    string            `json:"Etag"`
	DateCreated             jfTime            `json:"DateCreated"`
	CanDelete               bool              `json:"CanDelete"`
	CanDownload             bool              `json:"CanDownload"`
	Container               string            `json:"Container,omitempty"`
	SortName                string            `json:"SortName"`
	PremiereDate            *jfTime           `json:"PremiereDate,omitempty"`
	RunTimeTicks            int64             `json:"RunTimeTicks,omitempty"`
	ProductionYear          int               `json:"ProductionYear,omitempty"`
	IsFolder                bool              `json:"IsFolder"`
	Type                    string            `json:"Type"`
	ParentID                string            `json:"ParentId,omitempty"`
	CollectionType          string            `json:"CollectionType,omitempty"`
	UserData                *userItemData     `json:"UserData,omitempty"`
	PrimaryImageAspectRatio float64           `json:"PrimaryImageAspectRatio,omitempty"`
	VideoType               string            `json:"VideoType,omitempty"`
	ImageTags               map[string]string `json:"ImageTags"`
	BackdropImageTags       []string          `json:"BackdropImageTags"`
	LocationType            string            `json:"LocationType"`
	MediaType               string            `json:"MediaType"`
}

// userItemData is UserItemDataDto of an unwatched item.
type userItemData struct {
	PlaybackPositionTicks int64  `json:"PlaybackPositionTicks"`
	PlayCount             int    `json:"PlayCount"`
	IsFavorite            bool   `json:"IsFavorite"`
	Played                bool   `json:"Played"`
	Key                   string `json:"Key"`
	ItemID                string `json:"ItemId"`
}

func (s *Server) itemDTO(it *item, u *user) itemDTO {
	d := itemDTO{
		Name: it.name, ServerID: s.id, ID: it.id, Etag: it.imageTag(), DateCreated: jfTime(it.created),
		CanDelete: u != nil && u.policy.IsAdministrator, CanDownload: it.typ == "Movie",
		Container: it.container, SortName: strings.ToLower(it.name), RunTimeTicks: it.runtimeTicks,
		ProductionYear: it.year, IsFolder: it.typ != "Movie", Type: it.typ, ParentID: it.parentID,
		CollectionType: it.collectionType, ImageTags: map[string]string{"Primary": it.imageTag()},
		BackdropImageTags: []string{}, LocationType: "FileSystem", MediaType: "Unknown",
	}
	if it.typ == "Movie" {
		d.PremiereDate = timePtr(time.Date(it.year, 1, 1, 0, 0, 0, 0, time.UTC))
		d.PrimaryImageAspectRatio = 2.0 / 3.0
		d.VideoType, d.MediaType = "VideoFile", "Video"
		d.BackdropImageTags = []string{it.imageTag()}
	}
	if u != nil {
		d.UserData = &userItemData{Key: it.id, ItemID: it.id}
	}
	return d
}

// getItems is GET /Items (§12): an API key may omit userId; a user may
// name only themself unless an administrator.
func getItems(s *Server, c *call) (*reply, error) {
	id, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	return s.listItems(c, id)
}

// getItemsLegacy is GET /Users/{userId}/Items.
func getItemsLegacy(s *Server, c *call) (*reply, error) {
	id, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	return s.listItems(c, id)
}

func (s *Server) listItems(c *call, requested string) (*reply, error) {
	uid, err := callerUserID(c, requested)
	if err != nil {
		return nil, err
	}
	var u *user
	if uid != zeroGUID {
		if u = s.userByID(uid); u == nil {
			return nil, notFoundError("User not found")
		}
	}
	if !c.auth.isAPIKey && u == nil {
		return c.jsonReply(400, "userId is required"), nil
	}
	found, bad := s.queryItems(c)
	if bad != nil {
		return bad, nil
	}
	return c.jsonReply(200, s.pageItems(c, found, u)), nil
}

// queryItems applies ids, parentId, recursive, includeItemTypes and
// searchTerm; without a parent and not recursive the result is the user's
// views.
func (s *Server) queryItems(c *call) ([]*item, *reply) {
	parent, bad := c.optionalGUID("parentId")
	if bad != nil {
		return nil, bad
	}
	recursive, bad := c.boolQuery("recursive")
	if bad != nil {
		return nil, bad
	}
	ids, _ := c.equery.get("ids")
	types, _ := c.equery.get("includeItemTypes")
	term, _ := c.equery.get("searchTerm")
	var out []*item
	for _, it := range s.items {
		switch {
		case ids != "" && !listHasFold(ids, it.id):
		case ids == "" && parent != "" && it.parentID != parent:
		case ids == "" && parent == "" && (recursive == nil || !*recursive) && it.parentID != "":
		case types != "" && !listHasFold(types, it.typ):
		case term != "" && !strings.Contains(strings.ToLower(it.name), strings.ToLower(term)):
		default:
			out = append(out, it)
		}
	}
	return out, nil
}

func listHasFold(list, v string) bool {
	for _, x := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(x), v) {
			return true
		}
	}
	return false
}

// pageItems applies startIndex and limit.
func (s *Server) pageItems(c *call, found []*item, u *user) queryResult[itemDTO] {
	start, _ := strconv.Atoi(firstValue(c.equery, "startIndex"))
	limit, err := strconv.Atoi(firstValue(c.equery, "limit"))
	total := len(found)
	start = min(max(start, 0), total)
	found = found[start:]
	if err == nil && limit >= 0 && limit < len(found) {
		found = found[:limit]
	}
	var dtos []itemDTO
	for _, it := range found {
		dtos = append(dtos, s.itemDTO(it, u))
	}
	r := newQueryResult(dtos)
	r.TotalRecordCount, r.StartIndex = total, start
	return r
}

func firstValue(q query, name string) string {
	v, _ := q.get(name)
	return v
}

// getItem is GET /Items/{itemId}?userId=: the user must exist (an API key
// without userId gets 400, from GetUserById's empty-GUID check).
func getItem(s *Server, c *call) (*reply, error) {
	uid, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	return s.oneItem(c, uid)
}

// getItemLegacy is GET /Users/{userId}/Items/{itemId}.
func getItemLegacy(s *Server, c *call) (*reply, error) {
	uid, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	return s.oneItem(c, uid)
}

func (s *Server) oneItem(c *call, requested string) (*reply, error) {
	itemID, bad := c.guidParam("itemId")
	if bad != nil {
		return bad, nil
	}
	uid, err := callerUserID(c, requested)
	if err != nil {
		return nil, err
	}
	u, err := s.lookupUser(uid)
	if err != nil {
		return nil, err
	}
	it := s.itemByID(itemID)
	if u == nil || it == nil {
		return problem(404), nil
	}
	return c.jsonReply(200, s.itemDTO(it, u)), nil
}

// getUserViews is GET /UserViews?userId=.
func getUserViews(s *Server, c *call) (*reply, error) {
	uid, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	return s.userViews(c, uid)
}

// getUserViewsLegacy is GET /Users/{userId}/Views.
func getUserViewsLegacy(s *Server, c *call) (*reply, error) {
	uid, bad := c.guidParam("userId")
	if bad != nil {
		return bad, nil
	}
	return s.userViews(c, uid)
}

func (s *Server) userViews(c *call, requested string) (*reply, error) {
	uid, err := callerUserID(c, requested)
	if err != nil {
		return nil, err
	}
	u, err := s.lookupUser(uid)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, notFoundError("User not found")
	}
	var views []itemDTO
	for _, it := range s.items {
		if it.parentID == "" {
			views = append(views, s.itemDTO(it, u))
		}
	}
	return c.jsonReply(200, newQueryResult(views)), nil
}

// imageTypes are the ImageType enum names.
var imageTypes = []string{"Primary", "Art", "Backdrop", "Banner", "Logo", "Thumb", "Disc",
	"Box", "Screenshot", "Menu", "Chapter", "BoxRear", "Profile"}

// serveImage is GET/HEAD /Items/{itemId}/Images/{imageType}[/{imageIndex}]
// (anonymous, §12): a small generated PNG for Primary and Backdrop.
func serveImage(s *Server, c *call) {
	itemID, bad := c.guidParam("itemId")
	if bad == nil && !listHasFold(strings.Join(imageTypes, ","), c.params["imageType"]) {
		bad = validationProblem(map[string][]string{"imageType": {"The value '" + c.params["imageType"] + "' is not valid."}})
	}
	if bad != nil {
		s.writeReply(c, bad, nil)
		return
	}
	s.mu.Lock()
	it := s.itemByID(itemID)
	s.mu.Unlock()
	kind := strings.ToLower(c.params["imageType"])
	idx := c.params["imageIndex"]
	if it == nil || kind != "primary" && kind != "backdrop" || idx != "" && idx != "0" ||
		kind == "backdrop" && it.typ != "Movie" {
		s.writeReply(c, problem(404), nil)
		return
	}
	c.w.Header().Set("Content-Type", "image/png")
	c.w.Header().Set("ETag", `"`+it.imageTag()+`"`)
	http.ServeContent(c.w, c.r, "", it.created, bytes.NewReader(itemPNG(it.id)))
}

// itemPNG draws a 20×30 poster in a colour taken from the item id.
func itemPNG(id string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 20, 30))
	col := color.RGBA{R: id[0], G: id[1], B: id[2], A: 255}
	for y := 0; y < 30; y++ {
		for x := 0; x < 20; x++ {
			img.Set(x, y, col)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
