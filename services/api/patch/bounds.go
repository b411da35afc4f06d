package patch

import (
	"fmt"
	"strings"
)

// checkDepth fails when objects and arrays in data nest deeper than max.
// It scans the bytes once, before any parser recurses into them: a merge
// patch nested thousands of levels costs the JSON libraries quadratic
// time. Malformed JSON is left to the parser that follows.
func checkDepth(data []byte, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("the patch nests objects and arrays deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// Strategic merge patch directives whose value lists the elements of the
// list named after the slash.
var listDirectives = []string{"$setElementOrder/", "$deleteFromPrimitiveList/"}

// mergeWork bounds from above the element comparisons a strategic merge
// of patch into doc makes. Lists merge by key: each patch element is
// looked for among the object's elements of the same list, and among the
// patch's own (ordering directives). Elements are counted per path, array
// indexes folded (spec.containers[].env[]), so for every path with np
// patch and nd object elements the merge compares at most np·(np+nd)
// pairs; the sum over paths is the bound.
func mergeWork(doc, patch map[string]any) int64 {
	np, nd := map[string]int64{}, map[string]int64{}
	countElements(patch, "", np)
	countElements(doc, "", nd)
	var work int64
	for path, n := range np {
		work += n * (n + nd[path])
	}
	return work
}

// countElements adds to counts, for every list under v, its elements
// under the list's folded path.
func countElements(v any, path string, counts map[string]int64) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			for _, d := range listDirectives {
				k = strings.TrimPrefix(k, d)
			}
			countElements(child, path+"/"+k, counts)
		}
	case []any:
		path += "[]"
		counts[path] += int64(len(v))
		for _, child := range v {
			countElements(child, path, counts)
		}
	}
}
