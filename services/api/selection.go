package api

import (
	"fmt"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/portico-dev/portico/internal/apierrors"
)

// MaxSelectorBytes bounds a label or field selector.
const MaxSelectorBytes = 8 << 10

// selectors are a parsed labelSelector and fieldSelector, in Kubernetes'
// grammar.
type selectors struct {
	labels labels.Selector
	fields fields.Selector
}

// parseSelectors parses both selectors. known holds the fields the kind can
// be selected by (their values do not matter); selecting by another field
// is a 400, as in kube-apiserver.
func parseSelectors(labelSel, fieldSel string, known map[string]string) (*selectors, error) {
	if len(labelSel) > MaxSelectorBytes || len(fieldSel) > MaxSelectorBytes {
		return nil, apierrors.BadRequest("selector too long")
	}
	s := &selectors{labels: labels.Everything(), fields: fields.Everything()}
	if labelSel != "" {
		ls, err := labels.Parse(labelSel)
		if err != nil {
			return nil, apierrors.BadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		s.labels = ls
	}
	if fieldSel != "" {
		fs, err := fields.ParseSelector(fieldSel)
		if err != nil {
			return nil, apierrors.BadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		for _, r := range fs.Requirements() {
			if _, ok := known[r.Field]; !ok {
				return nil, apierrors.BadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
			}
		}
		s.fields = fs
	}
	return s, nil
}

// matches reports whether an object with labels lbls and the fields
// flds returns is selected; flds is called only for a field selector
// (a watch of 1,000 watchers without one asked it for every event of each).
func (s *selectors) matches(lbls map[string]string, flds func() map[string]string) bool {
	if !s.labels.Matches(labels.Set(lbls)) {
		return false
	}
	return s.fields.Empty() || s.fields.Matches(fields.Set(flds()))
}

// empty reports whether the selectors select everything.
func (s *selectors) empty() bool {
	return s.labels.Empty() && s.fields.Empty()
}
