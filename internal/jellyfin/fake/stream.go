package fake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// StreamByte returns the byte at offset off of every generated stream, so
// tests can check any range without holding the stream: the stream is the
// concatenation of the little-endian 8-byte words splitmix64(0),
// splitmix64(1), …, i.e. byte off is byte off%8 (little-endian) of
// splitmix64(off/8).
func StreamByte(off int64) byte {
	return byte(splitmix64(uint64(off)>>3) >> (8 * (uint64(off) & 7))) //nolint:gosec // offsets are non-negative; the bit pattern is the point
}

// splitmix64 is Vigna's SplitMix64 output function applied to x.
func splitmix64(x uint64) uint64 {
	z := x + 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// fillStream writes the stream bytes starting at off into p, a word at a
// time, so a gigabyte costs a fraction of a second and no memory.
func fillStream(p []byte, off int64) {
	i := 0
	for ; i < len(p) && (off+int64(i))&7 != 0; i++ {
		p[i] = StreamByte(off + int64(i))
	}
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], splitmix64(uint64(off+int64(i))>>3)) //nolint:gosec // as in StreamByte
	}
	for ; i < len(p); i++ {
		p[i] = StreamByte(off + int64(i))
	}
}

// streamReader is an io.ReadSeeker over a generated stream of a given size.
type streamReader struct {
	size int64
	off  int64
}

// Read implements io.Reader.
func (r *streamReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	fillStream(p, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

// Seek implements io.Seeker.
func (r *streamReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("fake: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("fake: negative position")
	}
	r.off = offset
	return offset, nil
}

// streamTypes maps containers to the Content-Type of a static stream.
var streamTypes = map[string]string{
	"mp4": "video/mp4", "m4v": "video/mp4", "mkv": "video/x-matroska",
	"webm": "video/webm", "ts": "video/mp2t", "avi": "video/x-msvideo",
}

// serveStream is GET/HEAD /Videos/{itemId}/stream[.{container}] (anonymous,
// §12): a static stream with Accept-Ranges, Range/If-Range/206/416, and a
// stable ETag and Last-Modified, served by http.ServeContent over generated
// bytes. The lock is held only for the item lookup.
func serveStream(s *Server, c *call) {
	itemID, bad := c.guidParam("itemId")
	if bad != nil {
		s.writeReply(c, bad, nil)
		return
	}
	s.mu.Lock()
	it := s.itemByID(itemID)
	s.mu.Unlock()
	if it == nil || it.typ != "Movie" {
		s.writeReply(c, problem(404), nil)
		return
	}
	ctype := streamTypes[strings.ToLower(orDefault(c.params["container"], it.container))]
	c.w.Header().Set("Content-Type", orDefault(ctype, "application/octet-stream"))
	c.w.Header().Set("ETag", streamETag(it))
	http.ServeContent(c.w, c.r, "", it.created, &streamReader{size: it.streamSize})
}

// streamETag is stable for an item and size.
func streamETag(it *item) string {
	return fmt.Sprintf(`"%s-%x"`, it.id[:16], it.streamSize)
}

// masterPlaylist is GET/HEAD /Videos/{itemId}/master.m3u8 ([Authorize]):
// the variant URL is main.m3u8 followed by the request's own query string,
// ApiKey included, as DynamicHlsHelper builds it (§12).
func masterPlaylist(s *Server, c *call) (*reply, error) {
	if _, bad := s.playableItem(c); bad != nil {
		return bad, nil
	}
	body := "#EXTM3U\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=4128000,AVERAGE-BANDWIDTH=4128000,CODECS=\"avc1.640028,mp4a.40.2\",RESOLUTION=1920x1080\n" +
		"main.m3u8" + rawQueryString(c.r) + "\n"
	return newReply(200, "application/x-mpegURL", []byte(body)), nil
}

// hlsSegmentSecs is the segment length of the generated playlists.
const hlsSegmentSecs = 6

// mainPlaylist is GET /Videos/{itemId}/main.m3u8 ([Authorize]): segment
// URLs hls1/main/{n}.ts carry the request's query string
// (DynamicHlsPlaylistGenerator); with SegmentContainer=mp4 the playlist is
// fMP4 with an init segment.
func mainPlaylist(s *Server, c *call) (*reply, error) {
	it, bad := s.playableItem(c)
	if bad != nil {
		return bad, nil
	}
	container, _ := c.equery.get("SegmentContainer")
	ext, version := ".ts", "3"
	if strings.EqualFold(container, "mp4") {
		ext, version = ".mp4", "7"
	}
	qs := rawQueryString(c.r)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-VERSION:%s\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n", version, hlsSegmentSecs)
	if ext == ".mp4" {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"hls1/main/-1%s%s&runtimeTicks=0&actualSegmentLengthTicks=0\"\n", ext, qs)
	}
	writeSegments(&b, it.runtimeTicks, ext, qs)
	b.WriteString("#EXT-X-ENDLIST\n")
	return newReply(200, "application/x-mpegURL", []byte(b.String())), nil
}

// writeSegments lists equal-length segments covering the runtime.
func writeSegments(b *strings.Builder, runtime int64, ext, qs string) {
	seg := int64(hlsSegmentSecs) * 10_000_000
	var pos int64
	for n := 0; pos < runtime; n++ {
		length := min(seg, runtime-pos)
		fmt.Fprintf(b, "#EXTINF:%.6f, nodesc\nhls1/main/%d%s%s&runtimeTicks=%d&actualSegmentLengthTicks=%d\n",
			float64(length)/1e7, n, ext, qs, pos, length)
		pos += length
	}
}

// rawQueryString is Request.QueryString.ToString(): "?" and the raw query,
// or "" when there is none.
func rawQueryString(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// hlsSegmentSize is the byte length of one generated segment.
const hlsSegmentSize = 64 << 10

// hlsSegment serves /Videos/{itemId}/hls1/{playlistId}/{segmentId}.{container}
// ([Authorize]) and the anonymous /hls/ variant: the stream bytes at
// segmentId×64 KiB.
func hlsSegment(s *Server, c *call) (*reply, error) {
	it, bad := s.playableItem(c)
	if bad != nil {
		return bad, nil
	}
	n, err := strconv.Atoi(c.params["segmentId"])
	if err != nil {
		return validationProblem(map[string][]string{"segmentId": {"The value '" + c.params["segmentId"] + "' is not valid."}}), nil
	}
	off := int64(max(n, 0)) * hlsSegmentSize
	size := max(min(int64(hlsSegmentSize), it.streamSize-off), 0)
	body := make([]byte, size)
	fillStream(body, off)
	ctype := "video/mp2t"
	if strings.EqualFold(c.params["container"], "mp4") {
		ctype = "video/mp4"
	}
	return newReply(200, ctype, body), nil
}

// playableItem resolves {itemId} to a movie (400 malformed, 404 unknown).
func (s *Server) playableItem(c *call) (*item, *reply) {
	id, bad := c.guidParam("itemId")
	if bad != nil {
		return nil, bad
	}
	it := s.itemByID(id)
	if it == nil || it.typ != "Movie" {
		return nil, problem(404)
	}
	return it, nil
}

// playbackInfo is GET/POST /Items/{itemId}/PlaybackInfo ([Authorize]): one
// media source whose TranscodingUrl carries ApiKey=<caller's token>, built
// like StreamInfo.ToUrl (including its "?&" start and unencoded values).
func playbackInfo(s *Server, c *call) (*reply, error) {
	it, bad := s.playableItem(c)
	if bad != nil {
		return bad, nil
	}
	req, bad := c.optionalGUID("userId")
	if bad != nil {
		return bad, nil
	}
	if _, err := callerUserID(c, req); err != nil {
		return nil, err
	}
	session := newGUID()
	return c.jsonReply(200, map[string]any{
		"MediaSources":  []any{s.mediaSource(c, it, session)},
		"PlaySessionId": session,
	}), nil
}

func (s *Server) mediaSource(c *call, it *item, session string) map[string]any {
	url := fmt.Sprintf("/videos/%s/master.m3u8?&DeviceId=%s&MediaSourceId=%s&VideoCodec=h264&AudioCodec=aac"+
		"&AudioStreamIndex=1&VideoBitrate=4000000&AudioBitrate=128000&SegmentContainer=ts&MinSegments=1"+
		"&BreakOnNonKeyFrames=False&PlaySessionId=%s&ApiKey=%s&TranscodeReasons=ContainerNotSupported",
		it.id, c.auth.deviceID, it.id, session, c.auth.token)
	return map[string]any{
		"Protocol": "File", "Id": it.id, "Path": "/media/movies/" + it.name + ".mp4", "Type": "Default",
		"Container": it.container, "Size": it.streamSize, "Name": it.name, "IsRemote": false,
		"ETag": it.imageTag(), "RunTimeTicks": it.runtimeTicks, "SupportsTranscoding": true,
		"SupportsDirectStream": true, "SupportsDirectPlay": true, "IsInfiniteStream": false,
		"RequiresOpening": false, "RequiresClosing": false, "SupportsProbing": true,
		"VideoType": "VideoFile", "MediaStreams": []any{}, "MediaAttachments": []any{},
		"Formats": []any{}, "Bitrate": 4128000, "RequiredHttpHeaders": map[string]string{},
		"TranscodingUrl": url, "TranscodingSubProtocol": "hls", "TranscodingContainer": "ts",
		"DefaultAudioStreamIndex": 1, "HasSegments": false,
	}
}
