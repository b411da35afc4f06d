package api

import (
	"context"
	"fmt"
	"maps"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// AuthenticationConfigMap is where kube-apiserver publishes how it
// authenticates clients, in kube-system: kube-scheduler,
// kube-controller-manager and aggregated API servers read it
// (--authentication-kubeconfig) to trust the same client certificates
// on their own ports, through the bootstrap Role
// extension-apiserver-authentication-reader.
const AuthenticationConfigMap = "extension-apiserver-authentication"

// EnsureAuthenticationConfigMap writes kube-system's
// extension-apiserver-authentication with the client CA bundle
// (--client-ca-file) under client-ca-file, as kube-apiserver's
// cluster-authentication-trust controller does; a stored one with other
// data is updated. Portico has no front proxy, so there are no
// requestheader-* keys. clientCA empty writes nothing.
func (s *Service) EnsureAuthenticationConfigMap(ctx context.Context, clientCA []byte) error {
	if len(clientCA) == 0 {
		return nil
	}
	want := map[string]string{"client-ca-file": string(clientCA)}
	for attempt := 0; attempt < maxUpdateRetries; attempt++ {
		cur, err := s.configMaps.get(ctx, "kube-system", AuthenticationConfigMap)
		if apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
			_, err = s.configMaps.create(ctx, "kube-system", &corev1.ConfigMap{
				Metadata: &corev1.ObjectMeta{Name: AuthenticationConfigMap}, Data: want,
			}, writeOptions{manager: managerAPIServer})
			if apierrors.ReasonOf(err) == apierrors.ReasonAlreadyExists {
				continue
			}
		} else if err == nil && !maps.Equal(cur.GetData(), want) {
			cur.Data = want
			_, err = s.configMaps.update(ctx, "kube-system", AuthenticationConfigMap, cur, writeOptions{manager: managerAPIServer})
			if apierrors.ReasonOf(err) == apierrors.ReasonConflict {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("writing kube-system/%s: %w", AuthenticationConfigMap, err)
		}
		return nil
	}
	return fmt.Errorf("writing kube-system/%s: conflicts on every attempt", AuthenticationConfigMap)
}
