from context_encoder.cli import main

raise SystemExit(main())
