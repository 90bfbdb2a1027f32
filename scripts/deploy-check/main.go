// deploy-check: validates the deploy kit with the real parsers of the tools that will read it.
//   - Kubernetes manifests: every document is decoded strictly (unknown or mistyped fields are
//     errors) into the API types of k8s.io/api, as the API server's own decoder does; then the
//     references inside are checked (probe ports, volume mounts, Secrets and ConfigMaps named
//     by the pods are defined in the kit, selectors match the template's labels).
//   - Dockerfile: parsed and every instruction checked by BuildKit's own Dockerfile front end
//     (github.com/moby/buildkit/frontend/dockerfile), the parser `docker build` uses.
// Usage: deploy-check <Dockerfile> <manifest.yaml>...   Prints one line per problem; exit 1 if any.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var problems []string

func fail(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: deploy-check <Dockerfile> <manifest.yaml>...")
		os.Exit(2)
	}
	dockerfile(os.Args[1])
	var objs []runtime.Object
	for _, f := range os.Args[2:] {
		objs = append(objs, manifests(f)...)
	}
	references(objs)
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("ok: %s and %d Kubernetes objects\n", os.Args[1], len(objs))
}

func dockerfile(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		fail("%s: %v", file, err)
		return
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		fail("%s: %v", file, err)
		return
	}
	for _, w := range res.Warnings {
		fail("%s:%d: %s", file, w.Location.Start.Line, w.Short)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		fail("%s: %v", file, err)
		return
	}
	_ = metaArgs
	if len(stages) == 0 {
		fail("%s: no stage", file)
		return
	}
	final := stages[len(stages)-1]
	var user, health, cmd bool
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User != "" && c.User != "root" && !strings.HasPrefix(c.User, "0:") && c.User != "0"
		case *instructions.HealthCheckCommand:
			health = c.Health != nil && len(c.Health.Test) > 0 && c.Health.Test[0] != "NONE"
		case *instructions.CmdCommand:
			cmd = len(c.CmdLine) > 0
		}
	}
	if !user {
		fail("%s: the final stage must run as a non-root USER", file)
	}
	if !health {
		fail("%s: the final stage has no HEALTHCHECK", file)
	}
	if !cmd {
		fail("%s: the final stage has no CMD", file)
	}
}

func manifests(file string) []runtime.Object {
	f, err := os.Open(file)
	if err != nil {
		fail("%s: %v", file, err)
		return nil
	}
	defer f.Close()
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = appsv1.AddToScheme(scheme)
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []runtime.Object
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail("%s: document %d: %v", file, i, err)
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			fail("%s: document %d: %v", file, i, err)
			continue
		}
		_ = gvk
		out = append(out, obj)
	}
	return out
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") || t == "---" {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.Bytes()
}

func references(objs []runtime.Object) {
	secrets := map[string]*corev1.Secret{}
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Secret:
			secrets[o.Name] = o
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
		}
	}
	var deployments []*appsv1.Deployment
	for _, o := range objs {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		deployments = append(deployments, d)
		name := "Deployment " + d.Name
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				fail("%s: selector %s=%s does not match the pod template's labels", name, k, v)
			}
		}
		spec := d.Spec.Template.Spec
		volumes := map[string]corev1.Volume{}
		for _, v := range spec.Volumes {
			volumes[v.Name] = v
			if v.Secret != nil && secrets[v.Secret.SecretName] == nil {
				fail("%s: volume %s names Secret %s, which is not defined", name, v.Name, v.Secret.SecretName)
			}
			if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
				fail("%s: volume %s names ConfigMap %s, which is not defined", name, v.Name, v.ConfigMap.Name)
			}
		}
		for _, c := range spec.Containers {
			where := fmt.Sprintf("%s container %s", name, c.Name)
			ports := map[string]bool{}
			for _, p := range c.Ports {
				ports[p.Name] = true
			}
			for _, m := range c.VolumeMounts {
				if _, ok := volumes[m.Name]; !ok {
					fail("%s: mounts volume %s, which the pod does not define", where, m.Name)
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil && secrets[e.SecretRef.Name] == nil {
					fail("%s: envFrom names Secret %s, which is not defined", where, e.SecretRef.Name)
				}
			}
			for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
				if p == nil || p.HTTPGet == nil {
					continue
				}
				if port := p.HTTPGet.Port; port.StrVal != "" && !ports[port.StrVal] {
					fail("%s: %s probe uses port %q, which the container does not name", where, kind, port.StrVal)
				}
			}
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				fail("%s: readOnlyRootFilesystem is not true", where)
			}
		}
		if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
			fail("%s: the pod must set runAsNonRoot", name)
		}
	}
	for _, o := range objs {
		s, ok := o.(*corev1.Service)
		if !ok {
			continue
		}
		matched := false
		for _, d := range deployments {
			all := true
			for k, v := range s.Spec.Selector {
				if d.Spec.Template.Labels[k] != v {
					all = false
				}
			}
			if !all {
				continue
			}
			matched = true
			for _, sp := range s.Spec.Ports {
				if sp.TargetPort.StrVal == "" {
					continue
				}
				found := false
				for _, c := range d.Spec.Template.Spec.Containers {
					for _, p := range c.Ports {
						found = found || p.Name == sp.TargetPort.StrVal
					}
				}
				if !found {
					fail("Service %s: targetPort %q is not a named port of Deployment %s", s.Name, sp.TargetPort.StrVal, d.Name)
				}
			}
		}
		if !matched {
			fail("Service %s: its selector matches no Deployment's pods", s.Name)
		}
	}
}
