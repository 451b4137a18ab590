// ecs-sdk-go: a thin driver of the AWS SDK for Go v2 ECS client, for Tidewater's end-to-end
// tests of `tidewater ecs-api`. Every call goes through the SDK's own serializers,
// deserializers and waiters (ecspresso is built on this SDK), so a response shape the SDK
// cannot read fails here as it would fail in ecspresso.
//
// Usage:
//
//	ecs-sdk-go call OPERATION [INPUT_JSON | @FILE]   print the output as JSON (lowerCamel keys)
//	ecs-sdk-go wait services-stable|services-inactive --cluster C --services S1,S2 [--timeout 5m]
//	ecs-sdk-go wait tasks-running|tasks-stopped --cluster C --tasks T1,T2 [--timeout 5m]
//
// The input JSON uses the ECS API's member names (case-insensitive, as encoding/json matches
// struct fields). Endpoint, region and credentials come from the environment
// (AWS_ENDPOINT_URL_ECS, AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY). An API error prints {"error": {"code", "message"}} on stderr and
// exits with status 1; a usage error exits with status 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

type handler func(context.Context, *ecs.Client, []byte) (any, error)

// op adapts an SDK method to a handler that decodes its input from JSON.
func op[I, O any](method func(*ecs.Client, context.Context, *I, ...func(*ecs.Options)) (*O, error)) handler {
	return func(ctx context.Context, c *ecs.Client, raw []byte) (any, error) {
		var input I
		if err := json.Unmarshal(raw, &input); err != nil {
			return nil, fmt.Errorf("decoding the input: %w", err)
		}
		return method(c, ctx, &input)
	}
}

var operations = map[string]handler{
	"CreateCluster":              op((*ecs.Client).CreateCluster),
	"DeleteCluster":              op((*ecs.Client).DeleteCluster),
	"DescribeClusters":           op((*ecs.Client).DescribeClusters),
	"ListClusters":               op((*ecs.Client).ListClusters),
	"RegisterTaskDefinition":     op((*ecs.Client).RegisterTaskDefinition),
	"DeregisterTaskDefinition":   op((*ecs.Client).DeregisterTaskDefinition),
	"DescribeTaskDefinition":     op((*ecs.Client).DescribeTaskDefinition),
	"ListTaskDefinitions":        op((*ecs.Client).ListTaskDefinitions),
	"ListTaskDefinitionFamilies": op((*ecs.Client).ListTaskDefinitionFamilies),
	"CreateService":              op((*ecs.Client).CreateService),
	"UpdateService":              op((*ecs.Client).UpdateService),
	"DeleteService":              op((*ecs.Client).DeleteService),
	"DescribeServices":           op((*ecs.Client).DescribeServices),
	"ListServices":               op((*ecs.Client).ListServices),
	"RunTask":                    op((*ecs.Client).RunTask),
	"StopTask":                   op((*ecs.Client).StopTask),
	"DescribeTasks":              op((*ecs.Client).DescribeTasks),
	"ListTasks":                  op((*ecs.Client).ListTasks),
	"TagResource":                op((*ecs.Client).TagResource),
	"UntagResource":              op((*ecs.Client).UntagResource),
	"ListTagsForResource":        op((*ecs.Client).ListTagsForResource),
}

func main() {
	if len(os.Args) < 3 {
		usage("expected: call OPERATION [INPUT] | wait WAITER [flags]")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	client := ecs.NewFromConfig(cfg)
	var out any
	switch os.Args[1] {
	case "call":
		out, err = call(ctx, client, os.Args[2], os.Args[3:])
	case "wait":
		err = wait(ctx, client, os.Args[2], os.Args[3:])
		out = map[string]string{"waiter": os.Args[2], "result": "success"}
	default:
		usage("unknown command " + os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	printJSON(os.Stdout, lowerKeys(toGeneric(out)))
}

func call(ctx context.Context, client *ecs.Client, name string, args []string) (any, error) {
	h, ok := operations[name]
	if !ok {
		usage("unsupported operation " + name)
	}
	input := []byte("{}")
	if len(args) > 0 {
		input = []byte(args[0])
		if strings.HasPrefix(args[0], "@") {
			b, err := os.ReadFile(args[0][1:])
			if err != nil {
				usage(err.Error())
			}
			input = b
		}
	}
	return h(ctx, client, input)
}

func wait(ctx context.Context, client *ecs.Client, waiter string, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	cluster := fs.String("cluster", "", "cluster name or ARN")
	services := fs.String("services", "", "comma-separated services")
	tasks := fs.String("tasks", "", "comma-separated task ids or ARNs")
	timeout := fs.Duration("timeout", 5*time.Minute, "maximum wait")
	_ = fs.Parse(args)
	fast := func(min, max *time.Duration) { *min, *max = time.Second, 3*time.Second }
	switch waiter {
	case "services-stable":
		in := &ecs.DescribeServicesInput{Cluster: cluster, Services: split(*services)}
		return ecs.NewServicesStableWaiter(client, func(o *ecs.ServicesStableWaiterOptions) {
			fast(&o.MinDelay, &o.MaxDelay)
		}).Wait(ctx, in, *timeout)
	case "services-inactive":
		in := &ecs.DescribeServicesInput{Cluster: cluster, Services: split(*services)}
		return ecs.NewServicesInactiveWaiter(client, func(o *ecs.ServicesInactiveWaiterOptions) {
			fast(&o.MinDelay, &o.MaxDelay)
		}).Wait(ctx, in, *timeout)
	case "tasks-running":
		in := &ecs.DescribeTasksInput{Cluster: cluster, Tasks: split(*tasks)}
		return ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) {
			fast(&o.MinDelay, &o.MaxDelay)
		}).Wait(ctx, in, *timeout)
	case "tasks-stopped":
		in := &ecs.DescribeTasksInput{Cluster: cluster, Tasks: split(*tasks)}
		return ecs.NewTasksStoppedWaiter(client, func(o *ecs.TasksStoppedWaiterOptions) {
			fast(&o.MinDelay, &o.MaxDelay)
		}).Wait(ctx, in, *timeout)
	}
	usage("unknown waiter " + waiter)
	return nil
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// toGeneric turns an SDK output struct into maps and slices (through its JSON form).
func toGeneric(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		fail(err)
	}
	return out
}

// lowerKeys renames Go field names to the ECS API's lowerCamel member names and drops the
// SDK's ResultMetadata.
func lowerKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if k == "ResultMetadata" {
				continue
			}
			r, size := utf8.DecodeRuneInString(k)
			out[string(unicode.ToLower(r))+k[size:]] = lowerKeys(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = lowerKeys(t[i])
		}
	}
	return v
}

func printJSON(f *os.File, v any) {
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func fail(err error) {
	code, message := "", err.Error()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	printJSON(os.Stderr, map[string]any{"error": map[string]string{"code": code, "message": message}})
	os.Exit(1)
}

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "ecs-sdk-go:", msg)
	os.Exit(2)
}
