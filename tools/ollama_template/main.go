// Command ollama_template renders an Ollama Modelfile TEMPLATE for a chat request with Go's own
// text/template, the engine Ollama uses, so tests can check the Modelfile against training
// token for token without installing Ollama.
//
// Input (stdin, JSON): {"template": TEMPLATE, "system": SYSTEM, "messages": [{"role", "content"}]}.
// Output (stdout): the prompt text Ollama hands its runner, which then tokenizes it with special
// tokens parsed and adds BOS only where the vocabulary's add_bos rule says so (Ollama's
// llama runner calls llama_tokenize(add_special=true, parse_special=true); its Go engine adds
// BOS when the vocabulary's AddBOS is set). That step is done by the caller, with llama.cpp.
//
// What Ollama does, reproduced here (ollama/ollama server/routes.go ChatHandler and
// template/template.go Execute and collate):
//   - the Modelfile's SYSTEM becomes a first system message when the request has none;
//   - all system messages are joined with "\n\n" into .System, and consecutive messages of
//     the same role are merged with "\n\n" (system messages stay in .Messages too);
//   - a template that uses .Messages is executed once with .System, .Messages (.Role,
//     .Content), .Tools (none here) and an empty .Response; no .Prompt is given.
//
// Ollama's legacy path (templates without .Messages: one .Prompt/.Response execution per turn,
// the last one cut at .Response) is refused rather than approximated. Only the standard
// library is used, so Debian's golang-go (1.19) builds it offline.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"text/template/parse"
)

// Message is the part of Ollama's api.Message a chat template reads.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type request struct {
	Template string    `json:"template"`
	System   string    `json:"system"`
	Messages []Message `json:"messages"`
}

// collate merges consecutive same-role messages and joins every system message into one.
func collate(messages []Message) (string, []*Message) {
	var system []string
	var collated []*Message
	for i := range messages {
		message := messages[i]
		if message.Role == "system" {
			system = append(system, message.Content)
		}
		if n := len(collated); n > 0 && collated[n-1].Role == message.Role {
			collated[n-1].Content += "\n\n" + message.Content
		} else {
			collated = append(collated, &message)
		}
	}
	return strings.Join(system, "\n\n"), collated
}

// usesField reports whether any node of the template names the field (as Ollama's Vars does).
func usesField(node parse.Node, field string) bool {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, child := range n.Nodes {
			if usesField(child, field) {
				return true
			}
		}
	case *parse.ActionNode:
		return usesField(n.Pipe, field)
	case *parse.IfNode:
		return usesField(n.Pipe, field) || usesField(n.List, field) || usesField(n.ElseList, field)
	case *parse.RangeNode:
		return usesField(n.Pipe, field) || usesField(n.List, field) || usesField(n.ElseList, field)
	case *parse.WithNode:
		return usesField(n.Pipe, field) || usesField(n.List, field) || usesField(n.ElseList, field)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, command := range n.Cmds {
			for _, arg := range command.Args {
				if usesField(arg, field) {
					return true
				}
			}
		}
	case *parse.FieldNode:
		for _, ident := range n.Ident {
			if ident == field {
				return true
			}
		}
	}
	return false
}

func render(req request) (string, error) {
	tmpl, err := template.New("").Option("missingkey=zero").Parse(req.Template)
	if err != nil {
		return "", err
	}
	if !usesField(tmpl.Tree.Root, "Messages") {
		return "", fmt.Errorf("the template does not use .Messages: Ollama's legacy " +
			".Prompt/.Response path is not reproduced")
	}
	messages := req.Messages
	if req.System != "" && (len(messages) == 0 || messages[0].Role != "system") {
		messages = append([]Message{{Role: "system", Content: req.System}}, messages...)
	}
	system, collated := collate(messages)
	var out strings.Builder
	err = tmpl.Execute(&out, map[string]any{
		"System":   system,
		"Messages": collated,
		"Tools":    nil,
		"Response": "",
	})
	return out.String(), err
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "ollama_template: bad JSON on stdin:", err)
		os.Exit(2)
	}
	prompt, err := render(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ollama_template:", err)
		os.Exit(1)
	}
	fmt.Print(prompt)
}
