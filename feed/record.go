package feed

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// rejectKey identifies a reject across payloads: the same node rejected for
// the same value is not news.
type rejectKey struct {
	id, reason, raw string
}

// record puts the rejects and notes of a decoded payload into st and logs
// what changed since the previous payload: nothing when the rejects (and
// notes) are the same, otherwise a summary with the totals per reason and a
// line for each of the first new ones. f.pollMu is held.
func (f *Feed) record(st *Status, rep registry.Report, now time.Time) {
	st.Format = rep.Format
	st.Entries = rep.Entries
	st.RejectsAt = now

	keys := make(map[rejectKey]struct{}, len(rep.Rejected))
	reasons := map[string]int{}
	listed := make([]Reject, 0, min(len(rep.Rejected), f.cfg.maxListed))
	var fresh []*weights.NodeError
	for _, e := range rep.Rejected {
		raw := e.Raw.String()
		k := rejectKey{e.ID, string(e.Reason), raw}
		keys[k] = struct{}{}
		reasons[string(e.Reason)]++
		if len(listed) < f.cfg.maxListed {
			listed = append(listed, Reject{Index: e.Index, ID: clip(e.ID), Reason: string(e.Reason), Raw: clip(raw), Message: clip(e.Error())})
		}
		if _, seen := f.rejected[k]; !seen {
			fresh = append(fresh, e)
		}
	}
	same := len(keys) == len(f.rejected) && len(fresh) == 0
	f.rejected = keys
	st.Rejected = len(rep.Rejected)
	st.Reasons = reasons
	st.Rejects = listed

	codes := map[string]int{}
	notes := make([]Note, 0, min(len(rep.Notes), f.cfg.maxListed))
	var sig strings.Builder
	for _, n := range rep.Notes {
		codes[string(n.Code)]++
		if len(notes) < f.cfg.maxListed {
			notes = append(notes, Note{Index: n.Index, ID: clip(n.ID), Code: string(n.Code), Detail: clip(n.Detail)})
		}
		fmt.Fprintf(&sig, "%d\x00%s\x00%s\x00%s\x00", n.Index, n.ID, n.Code, n.Detail)
	}
	st.Noted = len(rep.Notes)
	st.NoteCodes = codes
	st.Notes = notes

	log := f.cfg.log
	if !same && len(rep.Rejected) > 0 {
		log.Warn("registry: nodes rejected", "rejected", len(rep.Rejected), "of", rep.Entries,
			"reasons", counts(reasons), "new", len(fresh))
		for i, e := range fresh {
			if i == f.cfg.maxLogged {
				log.Warn("registry: more nodes rejected", "not_logged", len(fresh)-i, "see", "the status's rejects")
				break
			}
			log.Warn("registry: node rejected", "index", e.Index, "id", clip(e.ID), "reason", string(e.Reason),
				"raw", clip(e.Raw.String()), "error", clip(e.Error()))
		}
	}
	if s := sig.String(); s != f.notesSig {
		f.notesSig = s
		if len(rep.Notes) > 0 {
			log.Info("registry: decoder notes", "notes", len(rep.Notes), "codes", counts(codes))
			for i, n := range rep.Notes {
				if i == f.cfg.maxLogged {
					log.Info("registry: more decoder notes", "not_logged", len(rep.Notes)-i)
					break
				}
				log.Info("registry: note", "index", n.Index, "id", clip(n.ID), "code", string(n.Code), "detail", clip(n.Detail))
			}
		}
	}
}

// counts formats totals as "a=1 b=2", keys sorted.
func counts(m map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
