module github.com/airmy/airmy-go

go 1.19
